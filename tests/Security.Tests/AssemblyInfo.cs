// One scenario at a time (one test collection): the fuzz loop and the stream flood are time-bounded, and sharing
// two cores with other scenarios would only make their figures noisier.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]
