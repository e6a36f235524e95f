-- budget.lua takes a slot of the regeneration budget, a lease that expires.
-- KEYS[1] held leases (sorted set: id -> expiry ms), KEYS[2] urgent callers
-- waiting (sorted set: id -> expiry ms); both carry the {budget} hash tag.
-- ARGV[1] limit, [2] id, [3] lease ttl ms, [4] '1' urgent else '0',
-- [5] how long a waiting mark lasts, ms.
-- Returns 1 when the slot is taken, else 0 (an urgent caller is then marked
-- waiting, which keeps the others out until it gets a slot or its mark
-- expires).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
local free = held < tonumber(ARGV[1])
local ttl = tonumber(ARGV[3])
if ARGV[4] == '1' then
  if free then
    redis.call('ZREM', KEYS[2], ARGV[2])
  else
    local wait = tonumber(ARGV[5])
    redis.call('ZADD', KEYS[2], now + wait, ARGV[2])
    redis.call('PEXPIRE', KEYS[2], wait)
    return 0
  end
elseif not free or redis.call('ZCARD', KEYS[2]) > 0 then
  return 0
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
