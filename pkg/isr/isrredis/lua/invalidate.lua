-- invalidate.lua marks a page stale or deletes it, and announces it.
-- KEYS[1] page hash, KEYS[2] event sequence counter.
-- ARGV[1] 's' (stale) or 'd' (delete), [2] key, [3] channel,
-- [4] fence ttl ms (the least a deleted page's counters are kept),
-- [5] sequence counter ttl ms.
-- Returns 0 when no page is stored (nothing changes), else 1.
if redis.call('HEXISTS', KEYS[1], 'status') == 0 then
  return 0
end
local gen
if ARGV[1] == 'd' then
  gen = (tonumber(redis.call('HGET', KEYS[1], 'fence')) or 0) + 1
  redis.call('HDEL', KEYS[1], 'key', 'status', 'hdr', 'body', 'tags',
    'rev_ms', 'written_ms', 'fresh_until_ms')
  redis.call('HSET', KEYS[1], 'min', string.format('%d', gen),
    'floor', string.format('%d', gen))
  local ttl = tonumber(ARGV[4])
  if redis.call('PTTL', KEYS[1]) < ttl then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
else
  gen = redis.call('HINCRBY', KEYS[1], 'fence', 1)
  redis.call('HSET', KEYS[1], 'floor', string.format('%d', gen), 'fresh_until_ms', '0')
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[3], string.format('%d %s %d ', seq, ARGV[1], gen) .. ARGV[2])
return 1
