-- tag.lua records that a page is stored with a tag, before the page is
-- written (put.lua), so that a revalidation of the tag that reads the set
-- after the write finds the page. The set is in the tag's own slot.
-- KEYS[1] tag set. ARGV[1] key, [2] the least TTL in ms the set keeps (the
-- page's).
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
