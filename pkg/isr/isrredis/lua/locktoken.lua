-- locktoken.lua is a cold fill's first step: it takes the page's lock and,
-- under it, reads the page or issues a fencing token, in one round trip
-- (instead of a lock request, a read and token.lua).
-- KEYS[1] lock key, KEYS[2] page hash, KEYS[3] the key's render-failure
-- marker (see Backend.Fail); one hash tag: the same slot.
-- ARGV[1] lock value, [2] lock ttl ms, [3] the least TTL in ms the page hash
-- keeps (as in token.lua).
-- Returns {0} when another holder has the lock (nothing else is done).
-- Otherwise the lock is taken, and it returns {1, <get.lua's reply>} when a
-- page is stored (the fields as get.lua lists them), {3, ms} when none is
-- and the key's last render failed ms ago less than its backoff, or
-- {2, token} otherwise (the token as token.lua issues it).
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local v = redis.call('HMGET', KEYS[2], 'status', 'key', 'gen', 'hdr', 'body',
  'tags', 'rev_ms', 'written_ms', 'fresh_until_ms', 'enc')
if v[1] then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return {1, now, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10] or ''}
end
local left = redis.call('PTTL', KEYS[3])
if left > 0 then
  return {3, left}
end
local n = redis.call('HINCRBY', KEYS[2], 'fence', 1)
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return {2, n}
