-- Store an aggregate's snapshot unless the stored one, of the same fingerprint, is as new or
-- newer: a late writer never moves a snapshot back. A stored snapshot of another fingerprint
-- (another shape of the state), or one claiming more events than the history holds, is of no
-- use and is replaced.
--
-- KEYS[1] snapshot hash   KEYS[2] aggregate history list
-- ARGV[1] version   ARGV[2] fingerprint   ARGV[3] state JSON
-- Returns 1 when written, 0 when the stored snapshot was kept.
local version = tonumber(ARGV[1])
local length = redis.call('LLEN', KEYS[2])
if version > length then
  return 0 -- never ahead of the history it caches
end
local stored = redis.call('HMGET', KEYS[1], 'v', 'fp')
local stored_version = tonumber(stored[1])
if stored[2] == ARGV[2] and stored_version and stored_version >= version
    and stored_version <= length then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'fp', ARGV[2], 'state', ARGV[3])
return 1
