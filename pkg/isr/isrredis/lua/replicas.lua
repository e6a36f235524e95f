-- replicas.lua lists the live replicas: those whose registration has not
-- run out by the server clock.
-- KEYS[1] replica set (sorted set: member = replica, score = expiry ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
