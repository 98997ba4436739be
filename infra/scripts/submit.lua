-- Append a command once: the status key doubles as the dedup mark for its command id.
-- KEYS[1] command status hash, KEYS[2] the partition's command stream,
-- KEYS[3] the partition's list of its correlation's command ids (the trace index)
-- ARGV[1] envelope JSON, ARGV[2] command name, ARGV[3] submitted_at ms, ARGV[4] status TTL s,
-- ARGV[5] actor ('' for none), ARGV[6] command id, ARGV[7] aggregate id,
-- ARGV[8] correlation id, ARGV[9] causation id ('' for none)
-- Returns 1 when appended, 0 when this command id was already known (nothing appended).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'accepted', 'command', ARGV[2],
  'submitted_at', ARGV[3], 'actor', ARGV[5], 'aggregate_id', ARGV[7],
  'correlation_id', ARGV[8], 'causation_id', ARGV[9])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
-- Each append renews the index's TTL: it lives as long as the newest status it lists.
redis.call('RPUSH', KEYS[3], ARGV[6])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
return 1
