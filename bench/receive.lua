-- wrk script: POST /api/receive with a new sender and subject each time,
-- so every request opens a ticket and queues its confirmation.
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local n = 0
request = function()
  n = n + 1
  local id = math.random(1, 2^40)
  local body = string.format('{"from":"w%d@example.com","subject":"load %d","message":"Hello from wrk."}', id, n)
  return wrk.format("POST", "/api/receive", {["Content-Type"] = "application/json"}, body)
end
response = function(status)
  if status ~= 200 then
    io.stderr:write("status " .. status .. "\n")
  end
end
