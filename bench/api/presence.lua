-- wrk script: PUT presence, alternating available and break, so each request is a state
-- change that the server commits (fsync) before it answers.
local n = 0
local headers = nil
request = function()
  -- A headers table given to wrk.format replaces the -H ones (the bearer token): copy them.
  if headers == nil then
    headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["Content-Type"] = "application/json"
  end
  n = n + 1
  local body
  if n % 2 == 0 then
    body = '{"state":"available"}'
  else
    body = '{"state":"break","reason":"lunch"}'
  end
  return wrk.format("PUT", nil, headers, body)
end
