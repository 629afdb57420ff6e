namespace Sedd.Runtime.Sampling;

/// <summary>
/// What one sequence of a sampler batch is: its random stream (seed and index), its conditioning and
/// how it chooses tokens. Position l of a sequence with stream (seed, index) draws at step i from
/// <see cref="Xoshiro256StarStar.ForRow"/>(seed, i, index·L + l), so a sequence's sample depends on
/// these values only, never on which other sequences share its batch or where in the batch it sits.
/// A single run with one seed uses (seed, b) for sequence b.
/// </summary>
/// <param name="Seed">Run seed of the sequence.</param>
/// <param name="Index">Stream index: sample number within its run.</param>
/// <param name="Projector">Fixed tokens (null: the sampler's default projector).</param>
/// <param name="Choice">Token choice (temperature, top-k, top-p) for positions that unmask.</param>
public readonly record struct SequenceSetup(ulong Seed, ulong Index, InfillProjector? Projector = null, TokenChoice Choice = default);
