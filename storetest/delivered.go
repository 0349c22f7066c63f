package storetest

import "github.com/passcodebot/passcodebot/resetflow"

// deliveredField is false until resetflow.InFlight has its Delivered field (branch sec).
const deliveredField = false

func delivered(resetflow.InFlight) bool { return false }
