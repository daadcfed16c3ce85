package helpers

// SetPassHook makes the md5 pass call f after each of its reads, with the offset reached (tests
// hold the pass, or wait for it, to change the file between the pass's read and a part's). It
// returns the function that removes the hook.
func SetPassHook(f func(off int64)) (remove func()) {
	passHook = f
	return func() { passHook = nil }
}
