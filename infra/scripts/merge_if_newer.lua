-- Write fields of a read-model view, each only if the change reflects a newer aggregate version
-- than the one that last wrote that field (kept as 'v:<field>'). Applying an event twice, late,
-- or before an older one (two projectors share a partition log) leaves every field as the
-- newest event touching it says: no event's change is lost to another's version.
-- KEYS[1] view hash  KEYS[2] optional key, SET to ARGV[2] when any field was written
-- ARGV[1] version  ARGV[2] that key's value  ARGV[3], ARGV[4] ... field, JSON value pairs
local version = tonumber(ARGV[1])
local written = 0
for i = 3, #ARGV, 2 do
  local seen = tonumber(redis.call('HGET', KEYS[1], 'v:' .. ARGV[i]) or '-1')
  if version > seen then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1], 'v:' .. ARGV[i], ARGV[1])
    written = written + 1
  end
end
if written > 0 and KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[2])
end
return written
