-- Write a read-model document only if it reflects a newer aggregate version than the stored one,
-- so applying an event twice, or late, changes nothing.
-- KEYS[1] document hash   ARGV[1] version   ARGV[2] document JSON
-- KEYS[2] optional index key, ARGV[3] its value (set together with the document)
local stored = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
if stored >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2])
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3])
end
return 1
