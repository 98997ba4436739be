-- Put a view in exactly the indexes its current fields call for, and take it out of the others.
-- Run after every write to the view: whatever order its events were applied in, the last run
-- sees the final fields, and running it again changes nothing.
-- An index is a sorted set of sort keys (score 0, so ordered by text: creation time, then id);
-- the view remembers each index it is in as a field 'ix:<index name>', the name without the
-- read-model root, so a view means the same in the live copy and in a rebuilt one renamed onto it.
-- KEYS[1] the view hash; its 'sort_key' field (JSON) is its member. Without one: nothing yet.
-- ARGV[1] the read-model root with its ':' (index key = root .. name)
-- then ARGV in fours, one per dimension: field, index name prefix, guard field, guard JSON value
--   field ''      the one index named by the prefix
--   field 'f'     the index <prefix><value of f> (a JSON string), if the view has f
--   field 'f:*'   the index <prefix><name> for every field 'f:<name>' whose value is true
--   guard ''      always; else only while the guard field holds exactly the guard value
local view = KEYS[1]
local root = ARGV[1]
local flat = redis.call('HGETALL', view)
local fields = {}
for i = 1, #flat, 2 do
  fields[flat[i]] = flat[i + 1]
end
if not fields['sort_key'] then
  return 0
end
local member = cjson.decode(fields['sort_key'])

local wanted = {}
for i = 2, #ARGV, 4 do
  local field, prefix, guard, guard_value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if guard == '' or fields[guard] == guard_value then
    if field == '' then
      wanted[prefix] = true
    elseif string.sub(field, -2) == ':*' then
      local family = string.sub(field, 1, -2)
      for name, value in pairs(fields) do
        if value == 'true' and string.sub(name, 1, #family) == family then
          wanted[prefix .. string.sub(name, #family + 1)] = true
        end
      end
    elseif fields[field] then
      local value = cjson.decode(fields[field])
      if type(value) == 'string' then
        wanted[prefix .. value] = true
      end
    end
  end
end

local changed = 0
for name, _ in pairs(fields) do
  if string.sub(name, 1, 3) == 'ix:' and not wanted[string.sub(name, 4)] then
    redis.call('ZREM', root .. string.sub(name, 4), member)
    redis.call('HDEL', view, name)
    changed = changed + 1
  end
end
for index, _ in pairs(wanted) do
  -- Added even when marked: after a rebuild's switch a view may be newer than its index (its
  -- event is applied once more just after), and ZADD of a present member changes nothing.
  changed = changed + redis.call('ZADD', root .. index, 0, member)
  if not fields['ix:' .. index] then
    redis.call('HSET', view, 'ix:' .. index, 1)
  end
end
return changed
