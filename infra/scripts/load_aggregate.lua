-- Load an aggregate to decide on it: its snapshot when one is usable, and the history after it,
-- read at one instant. A snapshot is usable when its fingerprint is the one the caller can decode
-- and its version lies within the history (the list is the truth; a snapshot is only a cache).
--
-- KEYS[1] snapshot hash   KEYS[2] aggregate history list
-- ARGV[1] the fingerprint of the state the caller can decode
--
-- Returns {version, state JSON, history entries after version...}, or {0, '', every entry}
-- when no snapshot is usable.
local version = 0
local state = ''
-- pcall: a key of another type at the snapshot's name is no snapshot, not a failed load.
local snap = redis.pcall('HMGET', KEYS[1], 'v', 'fp', 'state')
local v = not snap.err and tonumber(snap[1])
if v and v > 0 and v == math.floor(v) and snap[2] == ARGV[1] and snap[3] then
  if v <= redis.call('LLEN', KEYS[2]) then
    version = v
    state = snap[3]
  end
end
local reply = {version, state}
for _, entry in ipairs(redis.call('LRANGE', KEYS[2], version, -1)) do
  reply[#reply + 1] = entry
end
return reply
