-- Load a batch's aggregates of one partition to decide on them: each its snapshot when one is
-- usable, and its history after it, all read at one instant. A snapshot is usable when its
-- fingerprint is the one the caller can decode and its version lies within the history (the
-- list is the truth; a snapshot is only a cache). One call per partition and batch.
--
-- KEYS, for each aggregate: its snapshot hash, then its history list
-- ARGV, for each aggregate: the fingerprint of the state the caller can decode
--
-- Returns one reply per aggregate: {version, state JSON, history entries after version...},
-- or {0, '', every entry} when no snapshot is usable.
local function load(snapshot, history, fingerprint)
  local version = 0
  local state = ''
  -- pcall: a key of another type at the snapshot's name is no snapshot, not a failed load.
  local snap = redis.pcall('HMGET', snapshot, 'v', 'fp', 'state')
  local v = not snap.err and tonumber(snap[1])
  if v and v > 0 and v == math.floor(v) and snap[2] == fingerprint and snap[3] then
    if v <= redis.call('LLEN', history) then
      version = v
      state = snap[3]
    end
  end
  local reply = {version, state}
  for _, entry in ipairs(redis.call('LRANGE', history, version, -1)) do
    reply[#reply + 1] = entry
  end
  return reply
end

local replies = {}
for i = 1, #ARGV do
  replies[i] = load(KEYS[2 * i - 1], KEYS[2 * i], ARGV[i])
end
return replies
