package slack

// StableFor is how long a Socket Mode connection must have been up for its
// loss to be replaced at once (for the external tests).
const StableFor = stableFor
