-- Append commands of one partition once each: a command's status key doubles as the dedup mark
-- for its id, and a command id its client chose that names a command of another partition is
-- marked taken here (the gateway marks it beside that command's append). One call per
-- partition and batch (concurrent requests' appends, a reactor's follow-ups): the client's and
-- the server's cost is per call, not per command. Each command is appended, or found known, on
-- its own: a known one does not stop the others.
--
-- KEYS[1] the partition's command stream, then for each command: its status hash, its
--   correlation's list of command ids on this partition (the trace index) and its id's
--   taken mark
-- ARGV[1] status TTL s, ARGV[2] number of commands, then for each command: envelope JSON,
--   command name, submitted_at ms, actor ('' for none), command id, aggregate id, correlation
--   id, causation id ('' for none)
-- Returns one reply per command, in order: 1 when appended, 0 when its id was already known
-- (nothing appended).
local stream, ttl = KEYS[1], tonumber(ARGV[1])
local replies = {}
for c = 1, tonumber(ARGV[2]) do
  local status, index, taken = KEYS[3 * c - 1], KEYS[3 * c], KEYS[3 * c + 1]
  local a = 3 + 8 * (c - 1)
  if redis.call('EXISTS', status, taken) > 0 then
    replies[c] = 0
  else
    redis.call('XADD', stream, '*', 'e', ARGV[a])
    redis.call('HSET', status, 'status', 'accepted', 'command', ARGV[a + 1],
      'submitted_at', ARGV[a + 2], 'actor', ARGV[a + 3], 'aggregate_id', ARGV[a + 5],
      'correlation_id', ARGV[a + 6], 'causation_id', ARGV[a + 7])
    redis.call('EXPIRE', status, ttl)
    -- A command that starts its story (its correlation id is its own id) is found by its
    -- status alone; the index lists the story's later commands. Each append renews the
    -- index's TTL: it lives as long as the newest status it lists.
    if ARGV[a + 6] ~= ARGV[a + 4] then
      redis.call('RPUSH', index, ARGV[a + 4])
      redis.call('EXPIRE', index, ttl)
    end
    replies[c] = 1
  end
end
return replies
