-- Put a command back on its stream for another attempt, unless it reached a final status
-- meanwhile (a retry must never revive a settled command).
-- KEYS[1] command status hash  KEYS[2] the partition's command stream
-- ARGV[1] envelope JSON  ARGV[2] attempts
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'accepted' then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[1])
if status then
  redis.call('HSET', KEYS[1], 'attempts', ARGV[2])
end
return 1
