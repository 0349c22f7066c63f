package slack

// StableFor is how long a Socket Mode connection must have been up for its
// loss to be replaced at once (for the external tests).
const StableFor = stableFor

// ForgetIM forgets the IM known for user, as user_cache_ttl's end does.
func (a *Adapter) ForgetIM(user string) { a.ims.Remove(user) }
