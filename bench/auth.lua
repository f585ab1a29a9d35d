-- SPDX-License-Identifier: MIT
-- wrk script of bench/auth.sh: one authentication per request, on dyndns2 or the REST API.
-- Everything comes from the environment (wrk's main state, where done() runs, never sees
-- the script's arguments):
--   NP_MODE    nochg    GET /nic/update?hostname=NP_HOST&myip=NP_MYIP (the host's address)
--              update   GET /nic/update, host h<k> and a new address every request
--              api      GET /api/v1/account (it counts the account's hosts)
--              api-host GET /api/v1/hosts/NP_HOST (one host: the authentication and little else)
--              prime, prime-api   like nochg and api-host, from one address of each of the
--                       1024 /24s of the walk
--   NP_AUTH    the Authorization header, whole ("Basic ...", "Token ...")
--   NP_HOSTS   hosts h0..h<N-1> (update), NP_RUN the run's number (update: its addresses),
--              NP_OFFSET where the run's walk over the hosts starts (update; 0)
--   NP_EXPECT  the only answer allowed, "STATUS WORD" (e.g. "200 nochg", "401 unauthorized")
-- Every request names another client in X-Forwarded-For (the server trusts 127.0.0.1), walking
-- 10.0.0.0/14: the failed-authentication throttle counts per source, so no source fails more
-- than a few times a minute. done() prints every (status, first word of the body) seen and
-- a CHECK line saying whether all were the expected one.

local mode = os.getenv("NP_MODE") or "nochg"
local prime = mode:sub(1, 5) == "prime"
if prime then
	mode = mode == "prime-api" and "api-host" or "nochg"
end
local auth = os.getenv("NP_AUTH") or ""
local host = os.getenv("NP_HOST") or "h1.dyn.example"
local myip = os.getenv("NP_MYIP") or "10.0.0.1"
local nhosts = tonumber(os.getenv("NP_HOSTS") or "100000")
local run = tonumber(os.getenv("NP_RUN") or "0")
-- update: where the run starts its walk over the hosts (another run, other hosts)
local offset = tonumber(os.getenv("NP_OFFSET") or "0")
local expect = os.getenv("NP_EXPECT") or ""

local UA = "nameplate-bench/1.0 (loopback benchmark)"
local WALK = 262144 -- addresses of 10.0.0.0/14
local STRIDE = 7919 -- prime, so co-prime with any host count without factor 7919

-- main state: the threads, for done()
local threads = {}
local next_id = 0

function setup(thread)
	thread:set("tid", next_id)
	table.insert(threads, thread)
	next_id = next_id + 1
end

-- thread state
local n = 0
codes = {} -- global: done() reads it with thread:get
local nth = tonumber(os.getenv("NP_THREADS") or "2")

local function ipv4(a)
	return string.format("10.%d.%d.%d", math.floor(a / 65536) % 256,
	                     math.floor(a / 256) % 256, a % 256)
end

function request()
	local idx = n * nth + tid -- distinct over the threads
	n = n + 1
	local xff, path
	if prime then
		xff = ipv4((idx % 1024) * 256 + 1)
	else
		xff = ipv4(idx % WALK)
	end
	if mode == "api" then
		path = "/api/v1/account"
	elseif mode == "api-host" then
		path = "/api/v1/hosts/" .. host
	elseif mode == "update" then
		-- Host k gets 10.(128+run).x.y: no address repeats for a host within a run (k
		-- repeats only every nhosts requests, with other low bits), nor across runs.
		local k = ((idx + offset) * STRIDE) % nhosts
		if k == 1 then
			k = 0 -- h1 keeps its address for the nochg rows
		end
		local ip = string.format("10.%d.%d.%d", 128 + run % 128, math.floor(idx / 256) % 256,
		                         idx % 256)
		path = "/nic/update?hostname=h" .. k .. ".dyn.example&myip=" .. ip
	else
		path = "/nic/update?hostname=" .. host .. "&myip=" .. myip
	end
	return wrk.format("GET", path, {["Authorization"] = auth, ["User-Agent"] = UA,
	                                ["X-Forwarded-For"] = xff})
end

function response(status, headers, body)
	-- dyndns2 answers "word [address]"; the API a JSON object with "error": its value.
	local word = body:match('"code"%s*:%s*"([%w_-]+)"') or body:match("^([%w_-]+)") or "-"
	if status == 200 and body:sub(1, 1) == "{" then
		word = "json"
	end
	local key = status .. " " .. word
	codes[key] = (codes[key] or 0) + 1
end

function done(summary, latency, requests)
	local all, total = {}, 0
	for _, t in ipairs(threads) do
		for key, c in pairs(t:get("codes") or {}) do
			all[key] = (all[key] or 0) + c
			total = total + c
		end
	end
	local bad = 0
	for key, c in pairs(all) do
		io.write(string.format("CODE %s %d\n", key, c))
		if key ~= expect then
			bad = bad + c
		end
	end
	local e = summary.errors
	io.write(string.format("RESULT requests=%d answered=%d duration_us=%d connect=%d read=%d " ..
	                       "write=%d timeout=%d p50_us=%d p99_us=%d\n", summary.requests,
	                       total, summary.duration, e.connect, e.read, e.write, e.timeout,
	                       latency:percentile(50), latency:percentile(99)))
	if total == 0 then
		io.write("CHECK FAIL no answers\n")
	elseif bad > 0 then
		io.write(string.format("CHECK FAIL %d of %d answers were not \"%s\"\n", bad, total,
		                       expect))
	else
		io.write(string.format("CHECK ok all %d answers \"%s\"\n", total, expect))
	end
end
