-- invalidate.lua marks a page stale or deletes it, and announces it; for a
-- page's key, it does the same to each of the page's variants.
-- KEYS[1] page hash, KEYS[2] the shard's event sequence counter, KEYS[3]
-- the variant index of the page (hash: variant page hash -> variant key),
-- all in the page's slot (its shard's).
-- ARGV[1] 's' (stale) or 'd' (delete), [2] key, [3] channel,
-- [4] fence ttl ms (the least a deleted page's counters are kept),
-- [5] sequence counter ttl ms, [6] '1' when key names a page (its variants
-- are covered), '0' for a variant, [7] the shard's number.
-- Returns 0 when no page or variant is stored (nothing changes), else 1.
local function apply(h, key)
  if redis.call('HEXISTS', h, 'status') == 0 then
    return 0
  end
  local gen
  if ARGV[1] == 'd' then
    gen = (tonumber(redis.call('HGET', h, 'fence')) or 0) + 1
    redis.call('HDEL', h, 'key', 'status', 'hdr', 'body', 'tags',
      'rev_ms', 'written_ms', 'fresh_until_ms')
    redis.call('HSET', h, 'min', string.format('%d', gen),
      'floor', string.format('%d', gen))
    local ttl = tonumber(ARGV[4])
    if redis.call('PTTL', h) < ttl then
      redis.call('PEXPIRE', h, ttl)
    end
  else
    gen = redis.call('HINCRBY', h, 'fence', 1)
    redis.call('HSET', h, 'floor', string.format('%d', gen), 'fresh_until_ms', '0')
  end
  local seq = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('PUBLISH', ARGV[3], string.format('%s:%d %s %d ', ARGV[7], seq, ARGV[1], gen) .. key)
  return 1
end

local found = apply(KEYS[1], ARGV[2])
if ARGV[6] == '1' then
  local vs = redis.call('HGETALL', KEYS[3])
  for i = 1, #vs, 2 do
    if apply(vs[i], vs[i + 1]) == 1 then
      found = 1
    end
    if ARGV[1] == 'd' or redis.call('HEXISTS', vs[i], 'status') == 0 then
      redis.call('HDEL', KEYS[3], vs[i])
    end
  end
end
return found
