-- Append a command once: the status key doubles as the dedup mark for its command id.
-- KEYS[1] command status hash, KEYS[2] the partition's command stream
-- ARGV[1] envelope JSON, ARGV[2] command name, ARGV[3] submitted_at ms, ARGV[4] status TTL s,
-- ARGV[5] actor ('' for none)
-- Returns 1 when appended, 0 when this command id was already known (nothing appended).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'accepted', 'command', ARGV[2],
  'submitted_at', ARGV[3], 'actor', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
