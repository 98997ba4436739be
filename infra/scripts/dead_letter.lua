-- Give up on a command: keep it in the dead-letter stream with every error it met, record a
-- `failed` result (unless it already has a final one), acknowledge it. A poison entry with no
-- readable id skips the result.
-- KEYS[1] command status hash (a placeholder in the partition when the id is unknown)
-- KEYS[2] partition result log  KEYS[3] partition command stream  KEYS[4] dead-letter stream
-- ARGV[1] group  ARGV[2] entry id  ARGV[3] raw entry  ARGV[4] last error JSON
-- ARGV[5] result JSON  ARGV[6] status TTL s  ARGV[7] results MAXLEN  ARGV[8] command id or ''
-- ARGV[9] errors JSON list  ARGV[10] attempts  ARGV[11] now (ms)
redis.call('XADD', KEYS[4], '*', 'command_id', ARGV[8], 'entry', ARGV[3], 'error', ARGV[4],
  'errors', ARGV[9], 'attempts', ARGV[10], 'source', ARGV[2], 'at', ARGV[11])
if ARGV[8] ~= '' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status or status == 'accepted' then
    redis.call('HSET', KEYS[1], 'status', 'failed', 'result', ARGV[5], 'attempts', ARGV[10])
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'r', ARGV[5])
  end
end
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
return 1
