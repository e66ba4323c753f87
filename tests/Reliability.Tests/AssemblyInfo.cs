// The scenarios put real load on shared CPUs and measure what happens under it: one collection, one at a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]
