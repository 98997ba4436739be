-- Set one field of a read-model JSON document, only if the change reflects a newer aggregate
-- version than the stored one (so applying an event twice, or late, changes nothing).
-- KEYS[1] document hash   ARGV[1] version   ARGV[2] field   ARGV[3] the field's JSON value
local stored = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
local raw = redis.call('HGET', KEYS[1], 'doc')
if not raw or stored >= tonumber(ARGV[1]) then
  return 0
end
local doc = cjson.decode(raw)
doc[ARGV[2]] = cjson.decode(ARGV[3])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', cjson.encode(doc))
return 1
