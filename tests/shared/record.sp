.record {
	id 0 : integer
	name 1 : string
	tags 2 : *string
}
