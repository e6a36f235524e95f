-- put.lua is the fenced write: it stores a page and announces it in one step.
-- Every key is in the page's hash slot (its shard's): KEYS[1] page hash,
-- KEYS[2] the shard's event sequence counter, KEYS[3] the variant index of
-- the key's page (hash: variant page hash -> variant key). The page's tag
-- sets, in slots of their own, are updated before, by tag.lua.
-- ARGV[1] token, [2] key, [3] status, [4] header JSON, [5] body,
-- [6] tags JSON, [7] revalidate ms (-1 = never), [8] ttl ms, [9] channel,
-- [10] sequence counter ttl ms, [11] for a variant the most variants a
-- page keeps, 0 for a page, [12] the shard's number, [13] the content
-- coding of the body ("br" when the cache compressed it; "" when stored as
-- the origin sent it): the page format is described in get.lua.
-- Returns {0, gen} when refused (token <= gen or token < min), {3, 0} when
-- refused because the page has [11] variants already, {1, token} when
-- stored fresh, {2, token} when stored stale (token < floor).
local token = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'gen', 'fence', 'floor', 'min')
local gen = tonumber(f[1]) or 0
local fence = tonumber(f[2]) or 0
local floor = tonumber(f[3]) or 0
local min = tonumber(f[4]) or 0
if token <= gen or token < min then
  return {0, gen}
end
local vmax = tonumber(ARGV[11])
if vmax > 0 and redis.call('HEXISTS', KEYS[3], KEYS[1]) == 0
    and redis.call('HLEN', KEYS[3]) >= vmax then
  -- Forget the variants whose pages are gone, then count again.
  for _, h in ipairs(redis.call('HKEYS', KEYS[3])) do
    if redis.call('HEXISTS', h, 'status') == 0 then
      redis.call('HDEL', KEYS[3], h)
    end
  end
  if redis.call('HLEN', KEYS[3]) >= vmax then
    return {3, 0}
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rev = tonumber(ARGV[7])
local code, fu = 1, now + rev
if token < floor then
  code, fu = 2, 0
elseif rev < 0 then
  fu = -1
end
if fence < token then
  fence = token
end
redis.call('HSET', KEYS[1], 'key', ARGV[2], 'gen', ARGV[1],
  'fence', string.format('%d', fence), 'status', ARGV[3], 'hdr', ARGV[4],
  'body', ARGV[5], 'tags', ARGV[6], 'rev_ms', ARGV[7],
  'written_ms', string.format('%d', now), 'fresh_until_ms', string.format('%d', fu),
  'enc', ARGV[13])
local ttl = tonumber(ARGV[8])
redis.call('PEXPIRE', KEYS[1], ttl)
if vmax > 0 then
  redis.call('HSET', KEYS[3], KEYS[1], ARGV[2])
  if redis.call('PTTL', KEYS[3]) < ttl then
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[10])
redis.call('PUBLISH', ARGV[9], string.format('%s:%d w %s ', ARGV[12], seq, ARGV[1]) .. ARGV[2])
return {code, token}
