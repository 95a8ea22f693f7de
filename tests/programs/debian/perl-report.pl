# A small report over lines.txt: hashes, sort, sprintf, regexes, pack.
use strict; use warnings;
my (%sum, %cnt, @rows);
open(my $f, '<', $ARGV[0]) or die "$ARGV[0]: $!";
while (<$f>) {
	chomp;
	my ($w, $n, $w2, $i) = /^(\w+) (\d+) (\w+),(\d+)$/ or die "bad line $.";
	$sum{$w} += $n; $cnt{$w}++;
	push @rows, [$n, $i] if $w2 eq 'theta';
}
for my $w (sort { $sum{$b} <=> $sum{$a} || $a cmp $b } keys %sum) {
	printf "%-8s %6d %10d %9.3f\n", $w, $cnt{$w}, $sum{$w}, $sum{$w} / $cnt{$w};
}
my @top = (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @rows)[0 .. 4];
print join(" ", map { "$_->[0]:$_->[1]" } @top), "\n";
print unpack("H*", pack("NnC A3 w", 0xdeadbeef, 513, 7, "ab", 300)), "\n";
(my $s = "Hello World") =~ tr/a-zA-Z/n-za-mN-ZA-M/;
print "$s ", scalar(reverse "abc"), " ", lc(uc "MiXeD"), " ", sprintf("%.15g %e", 1/3, 6.02e23), "\n";
