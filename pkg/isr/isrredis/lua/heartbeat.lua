-- heartbeat.lua registers a replica as live until ttl from now, by the
-- server clock, and forgets replicas whose registration ran out.
-- KEYS[1] replica set (sorted set: member = replica, score = expiry ms).
-- ARGV[1] replica name, [2] ttl ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
