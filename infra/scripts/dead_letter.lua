-- Give up on a command: keep it in the dead-letter stream, record a `failed` result (unless it
-- already has a final one), acknowledge it. A poison entry with no readable id skips the result.
-- KEYS[1] command status hash (or the dead-letter stream again when the id is unknown)
-- KEYS[2] partition result log  KEYS[3] partition command stream  KEYS[4] dead-letter stream
-- ARGV[1] group  ARGV[2] entry id  ARGV[3] raw entry  ARGV[4] error JSON  ARGV[5] result JSON
-- ARGV[6] status TTL s  ARGV[7] results MAXLEN  ARGV[8] '1' when the command id is known
redis.call('XADD', KEYS[4], '*', 'entry', ARGV[3], 'error', ARGV[4], 'source', ARGV[2])
if ARGV[8] == '1' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status or status == 'accepted' then
    redis.call('HSET', KEYS[1], 'status', 'failed', 'result', ARGV[5])
    redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'r', ARGV[5])
  end
end
redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
return 1
