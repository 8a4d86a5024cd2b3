-- skynet.sharedata.corelib: Lua views over the C data trees of skynet.sharedata.core.
--
--   corelib.host.*          what the sharedatad service uses (new, delete, getref, ...)
--   corelib.box(ptr)        a read-only view of a tree (a table with a metatable)
--   corelib.update(view, ptr)  hands a view the tree that replaces its own
--   corelib.flush(view)     makes a view move on to the newest tree now
--   corelib.copy(ptr, k...) a plain Lua copy of the tree (or of the node at k...)
--
-- A view keeps no fields of its own: its state lives in a weak side table, so every
-- key of the data reads through. Sub tables are views too, made once per key. When the
-- tree a view reads has been replaced (its tree is marked dirty), the next read moves
-- the whole family of views onto the new tree, by key.
local core = require "skynet.sharedata.core"

local index, nextkey, len = core.index, core.nextkey, core.len
local isdirty, needupdate = core.isdirty, core.needupdate

local corelib = {
	host = {
		new = core.new,
		delete = core.delete,
		getref = core.getref,
		markdirty = core.markdirty,
		incref = core.incref,
		decref = core.decref,
	},
}

-- view -> { ptr = C table, box = the C box that holds its tree, root = root state,
--           parent = parent state | nil, key = key, children = { [key] = view } | nil }
-- A view left behind by an update (its key is gone) keeps the old tree alive by its box.
local state = setmetatable({}, { __mode = "k" })

local view_mt = {}

local function path(st)
	local parts = {}
	while st.parent do
		table.insert(parts, 1, tostring(st.key))
		st = st.parent
	end
	return table.concat(parts, ".")
end

-- re-point a family of views onto the tree ptr (children by their keys)
local function repoint(st, ptr, box)
	st.ptr = ptr
	st.box = box
	local children = st.children
	if children == nil then
		return
	end
	for key, child in pairs(children) do
		local p = index(ptr, key)
		if type(p) == "userdata" then
			repoint(state[child], p, box)
		else
			children[key] = nil     -- no longer a table: that view is left behind
		end
	end
end

-- the C table to read for st, after moving on to a newer tree if there is one
local function current(st)
	local ptr = st.ptr
	if isdirty(ptr) then
		local newptr, holder = needupdate(st.box)
		if newptr then
			repoint(st.root, newptr, holder.box)
			if st.ptr == ptr then
				error("The key [" .. path(st) .. "] doesn't exist after update")
			end
		end
	end
	return st.ptr
end

function view_mt:__index(key)
	local st = state[self]
	local v = index(current(st), key)
	if type(v) ~= "userdata" then
		return v
	end
	local children = st.children
	if children == nil then
		children = {}
		st.children = children
	end
	local child = children[key]
	if child == nil then
		child = setmetatable({}, view_mt)
		state[child] = { ptr = v, box = st.box, root = st.root, parent = st, key = key }
		children[key] = child
	end
	return child
end

function view_mt:__newindex()
	error("Error newindex, the key [" .. path(state[self]) .. "]")
end

function view_mt:__len()
	return len(current(state[self]))
end

local function view_next(view, key)
	local k = nextkey(current(state[view]), key)
	if k ~= nil then
		return k, view[k]
	end
end

function view_mt:__pairs()
	return view_next, self, nil
end

function corelib.box(ptr)
	local view = setmetatable({}, view_mt)
	local st = { ptr = ptr, key = "" }
	st.root = st
	st.box = core.box(ptr)
	state[view] = st
	return view
end

-- the C tree a view reads now (without moving on)
function corelib.pointer(view)
	return state[view].ptr
end

function corelib.update(view, ptr)
	local st = state[view]
	assert(isdirty(st.ptr), "Only dirty object can be update")
	core.update(st.box, ptr, { box = core.box(ptr) })
end

function corelib.flush(view)
	current(state[view])
end

local function clone(ptr)
	local t = {}
	local k = nextkey(ptr)
	while k ~= nil do
		local v = index(ptr, k)
		if type(v) == "userdata" then
			v = clone(v)
		end
		t[k] = v
		k = nextkey(ptr, k)
	end
	return t
end

function corelib.copy(ptr, ...)
	for i = 1, select("#", ...) do
		ptr = index(ptr, (select(i, ...)))
		if type(ptr) ~= "userdata" then
			return ptr
		end
	end
	return clone(ptr)
end

return corelib
