-- get.lua reads a page and the server clock in one step.
-- KEYS[1] page hash, KEYS[2] the key's render-failure marker (see
-- Backend.Fail; the same slot).
-- Returns nil when no page is stored (a hash holding only fence counters is
-- no page) and no render failed, {ms} when none is stored and the last
-- render failed ms ago less than its backoff, else {now_ms, status, key,
-- gen, hdr, body, tags, rev_ms, written_ms, fresh_until_ms, enc}.
-- Page format: 'body' holds the body encoded with 'enc' ("br" when the
-- cache compressed it once at write time; "" or absent: as the origin sent
-- it, its Content-Encoding, if any, in 'hdr'). 'hdr' always holds an ETag
-- (the origin's, or one computed from the content).
local v = redis.call('HMGET', KEYS[1], 'status', 'key', 'gen', 'hdr', 'body',
  'tags', 'rev_ms', 'written_ms', 'fresh_until_ms', 'enc')
if not v[1] then
  local left = redis.call('PTTL', KEYS[2])
  if left > 0 then
    return {left}
  end
  return nil
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {now, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10] or ''}
