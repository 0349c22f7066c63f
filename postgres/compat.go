package postgres

import "errors"

// errLimitReached stands for resetflow.ErrLimitReached until the port has it.
var errLimitReached = errors.New("resetflow: daily reset limit reached")
