-- token.lua issues a fencing token: the page's fence counter plus one.
-- KEYS[1] page hash. ARGV[1] TTL in ms set when the hash has none (a hash
-- created here holds only the counter).
local n = redis.call('HINCRBY', KEYS[1], 'fence', 1)
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
