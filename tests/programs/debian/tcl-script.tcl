# Tcl: lists, dicts, string ops, expr with bignums and floats, procs.
proc fact {n} { if {$n < 2} { return 1 }; return [expr {$n * [fact [expr {$n - 1}]]}] }
puts [fact 30]
set d [dict create]
set f [open [lindex $argv 0]]
while {[gets $f line] >= 0} { dict incr d [lindex [split $line] 0] }
close $f
foreach k [lsort [dict keys $d]] { puts -nonewline "$k=[dict get $d $k] " }
puts ""
puts [format "%.10f %e %x" [expr {atan(1) * 4}] [expr {2.0 ** 70}] 48879]
puts [lsort -integer -decreasing {5 3 17 2 11}]
puts [string map {a A e E} "banana tree"] ; puts [regsub -all {(\d)} "a1b22" {<\1>}]
puts [binary encode hex [binary format IsS 305419896 -2 1]]
