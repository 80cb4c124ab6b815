#!/usr/bin/perl
# The layout from the product design: the top-level folders it names, and
# no circles between files.  A module is NAME.c with NAME.h; it depends on
# every module whose header it (its .c or its .h) includes.  A circle
# (a.c includes b.h and b.c includes a.h, or longer) fails with the path.
use strict;
use warnings;
use File::Basename;

chdir(dirname($0) . '/../..') or die "chdir: $!";
my @dirs = qw(client proxy netlink scripts tests);
my @src = map { glob("$_/*.[ch]") } qw(client proxy netlink);
print '1..', scalar(@dirs) + 2, "\n";
my $n = 0;
for my $d (@dirs) {
	$n++;
	print((-d $d ? 'ok' : 'not ok'), " $n - top-level folder $d/\n");
}
$n++;
print((-e 'kernel' ? 'not ok' : 'ok'),
      " $n - no kernel/: the kernel-attach layer lives in netlink/\n");

my (%dep, %exists);
for my $f (@src) {
	my ($m) = basename($f) =~ /^(.*)\.[ch]$/;
	$exists{$m} = 1;
}
for my $f (@src) {
	my ($m) = basename($f) =~ /^(.*)\.[ch]$/;
	open(my $fh, '<', $f) or die "$f: $!";
	while (<$fh>) {
		next unless /^#include "([^"]+)\.h"/;
		$dep{$m}{$1} = 1 if $1 ne $m && $exists{$1};
	}
}
my (%state, @stack, $cycle);
sub visit {
	my ($m) = @_;
	$state{$m} = 1;
	push @stack, $m;
	for my $d (sort keys %{ $dep{$m} || {} }) {
		last if $cycle;
		if (($state{$d} // 0) == 1) {
			my @c = @stack;
			shift @c while $c[0] ne $d;
			$cycle = join(' -> ', @c, $d);
		} elsif (!$state{$d}) {
			visit($d);
		}
	}
	pop @stack;
	$state{$m} = 2;
}
for my $m (sort keys %exists) {
	visit($m) unless $state{$m} || $cycle;
}
$n++;
print(($cycle ? 'not ok' : 'ok'), " $n - no circle between files\n");
print "# circle: $cycle\n" if $cycle;
