-- put.lua is the fenced write: it stores a page and announces it in one step.
-- KEYS[1] page hash, KEYS[2] event sequence counter, KEYS[3..] tag sets.
-- ARGV[1] token, [2] key, [3] status, [4] header JSON, [5] body,
-- [6] tags JSON, [7] revalidate ms (-1 = never), [8] ttl ms, [9] channel,
-- [10] sequence counter ttl ms.
-- Returns {0, gen} when refused (token <= gen or token < min), {1, token}
-- when stored fresh, {2, token} when stored stale (token < floor).
local token = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'gen', 'fence', 'floor', 'min')
local gen = tonumber(f[1]) or 0
local fence = tonumber(f[2]) or 0
local floor = tonumber(f[3]) or 0
local min = tonumber(f[4]) or 0
if token <= gen or token < min then
  return {0, gen}
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
  'written_ms', string.format('%d', now), 'fresh_until_ms', string.format('%d', fu))
local ttl = tonumber(ARGV[8])
redis.call('PEXPIRE', KEYS[1], ttl)
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[2])
  if redis.call('PTTL', KEYS[i]) < ttl then
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[10])
redis.call('PUBLISH', ARGV[9], string.format('%d w %s ', seq, ARGV[1]) .. ARGV[2])
return {code, token}
