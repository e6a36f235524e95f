//go:build !linux

package main

import "syscall"

// childAttr returns nil: outside Linux, children are stopped by runStack's
// deferred cleanup only.
func childAttr() *syscall.SysProcAttr { return nil }
