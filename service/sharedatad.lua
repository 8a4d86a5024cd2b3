-- sharedatad: owns the data trees of skynet.sharedata.
--
-- Each name has a current tree. The service holds one reference on it; a query or a
-- monitor answer carries one more, which the client drops ("confirm") once its own box
-- holds the tree. A replaced or deleted tree is marked dirty (readers move on) and
-- freed once no box refers to it any more: the service looks again every second
-- while such retired trees remain.
local skynet = require "skynet"
local corelib = require "skynet.sharedata.corelib"
local host = corelib.host

-- data files loaded by "@file" are read afresh each time, not from the code cache
local has_cache, codecache = pcall(require, "skynet.codecache")
if has_cache and type(codecache) == "table" and codecache.mode then
	codecache.mode "OFF"
end

local NORET = {}
local entries = {}          -- name -> { ptr = tree, watchers = { response, ... } }
local live = {}             -- tree -> true for every tree made here and not yet freed
local retired = {}          -- tree -> true once replaced or deleted
local sweeping = false

local function sweep()
	while next(retired) do
		skynet.sleep(100)
		collectgarbage()
		for ptr in pairs(retired) do
			if host.getref(ptr) <= 0 then
				retired[ptr] = nil
				live[ptr] = nil
				host.delete(ptr)
			end
		end
	end
	sweeping = false
end

local function retire(ptr)
	host.decref(ptr)
	retired[ptr] = true
	if not sweeping then
		sweeping = true
		skynet.fork(sweep)
	end
end

local function build(name, value, ...)
	local kind = type(value)
	if kind == "table" then
		return value
	elseif kind == "nil" then
		return {}
	elseif kind == "string" then
		local env = setmetatable({}, { __index = _ENV })
		local chunk
		if value:sub(1, 1) == "@" then
			chunk = assert(loadfile(value:sub(2), "bt", env))
		else
			chunk = assert(load(value, "=" .. name, "bt", env))
		end
		local ret = chunk(...)
		setmetatable(env, nil)
		if type(ret) == "table" then
			return ret
		end
		return env
	end
	error("Unknown data type " .. kind)
end

local CMD = {}

function CMD.new(name, value, ...)
	assert(entries[name] == nil, "sharedata " .. tostring(name) .. " exists")
	local ptr = host.new(build(name, value, ...))
	host.incref(ptr)
	live[ptr] = true
	entries[name] = { ptr = ptr, watchers = {} }
end

function CMD.update(name, value, ...)
	local old = entries[name]
	entries[name] = nil
	local ok, err = pcall(CMD.new, name, value, ...)
	if not ok then
		entries[name] = old
		error(err)
	end
	if old then
		local new = entries[name]
		host.markdirty(old.ptr)
		retire(old.ptr)
		for _, response in ipairs(old.watchers) do
			host.incref(new.ptr)
			if not response(true, new.ptr) then
				host.decref(new.ptr)        -- that watcher is gone
			end
		end
	end
end

function CMD.delete(name)
	local e = assert(entries[name], name)
	entries[name] = nil
	host.markdirty(e.ptr)
	retire(e.ptr)
	for _, response in ipairs(e.watchers) do
		response(true)
	end
end

function CMD.query(name)
	local e = assert(entries[name], name)
	host.incref(e.ptr)
	return e.ptr
end

function CMD.confirm(ptr)
	if live[ptr] then
		host.decref(ptr)
	end
	return NORET
end

-- answers when name's tree is no longer ptr: with the new tree, or nothing once deleted
function CMD.monitor(name, ptr)
	local e = entries[name]
	if e == nil then
		return nil
	end
	if e.ptr ~= ptr then
		host.incref(e.ptr)
		return e.ptr
	end
	local watchers = e.watchers
	-- drop the watchers whose services are gone before the list grows long
	if #watchers >= 16 and #watchers >= 2 * (e.pruned or 0) then
		local keep = {}
		for _, response in ipairs(watchers) do
			if response "TEST" then
				keep[#keep + 1] = response
			end
		end
		watchers = keep
		e.watchers = keep
		e.pruned = #keep
	end
	watchers[#watchers + 1] = skynet.response()
	return NORET
end

-- (ours) trees made and not yet freed, and how many of them are retired
function CMD.stat()
	local n, r = 0, 0
	for _ in pairs(live) do n = n + 1 end
	for _ in pairs(retired) do r = r + 1 end
	return { live = n, retired = r }
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = assert(CMD[cmd], cmd)
		local r = f(...)
		if r ~= NORET then
			skynet.retpack(r)
		end
	end)
end)
