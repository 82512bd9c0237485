package refreshing

// Exports for the external tests.

// InvalidatingStore returns st as a Service sees it (invalidating, with an
// authentication cache of its own) and a function reporting the cache's
// epoch, which every invalidation increases.
func InvalidatingStore(st Store) (Store, func() uint64) {
	c := &authCache{}
	return invalidating{Store: st, cache: c}, c.epoch.Load
}
