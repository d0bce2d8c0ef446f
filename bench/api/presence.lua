-- wrk script: PUT presence, alternating available and break, so each request is a state
-- change that the server commits (fsync) before it answers.
local n = 0
request = function()
  n = n + 1
  local body
  if n % 2 == 0 then
    body = '{"state":"available"}'
  else
    body = '{"state":"break","reason":"lunch"}'
  end
  return wrk.format("PUT", nil, {["Content-Type"] = "application/json"}, body)
end
