-- token.lua issues a fencing token: the page's fence counter plus one.
-- KEYS[1] page hash. ARGV[1] the least TTL in ms the hash keeps, so that
-- the counter outlives the render the token is for.
local n = redis.call('HINCRBY', KEYS[1], 'fence', 1)
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
