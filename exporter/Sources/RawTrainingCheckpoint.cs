using System.Collections;
using Sedd.Runtime;
using Sedd.Runtime.IO;

namespace Sedd.Exporter.Sources;

/// <summary>
/// The authors' raw training checkpoint (run_train.py → utils.save_checkpoint; goldens/checkpoints/README.md §2):
/// a torch.save dict {optimizer, model, ema, step} with no config, read together with the run's Hydra
/// <c>.hydra/config.yaml</c>. EMA weights (the ones the authors sample and evaluate with) are the
/// <c>ema.shadow_params</c> list in <c>model.parameters()</c> order, named after the order of the
/// <c>model</c> OrderedDict without its one buffer <c>rotary_emb.inv_freq</c>.
/// </summary>
public static class RawTrainingCheckpoint
{
    const string Buffer = "rotary_emb.inv_freq";

    /// <summary>The config beside a checkpoint by run_train.py's layout: <c>&lt;pth dir&gt;/../.hydra/config.yaml</c>, or null.</summary>
    /// <param name="pth">Checkpoint file.</param>
    public static string? DefaultConfig(string pth)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(pth))!;
        var candidate = Path.Combine(dir, "..", ".hydra", "config.yaml");
        // Anything at that name is the config (a FIFO or a folder there is refused when read, never skipped).
        return FileKinds.Of(candidate) != FileKind.Missing ? Path.GetFullPath(candidate) : null;
    }

    /// <summary>Reads the checkpoint's weights and the config's facts.</summary>
    /// <param name="pth">The .pth file.</param>
    /// <param name="configPath">Hydra config (YAML) or a hub-style config.json; null = <see cref="DefaultConfig"/>.</param>
    /// <param name="weights">"ema" (default) or "online" (the <c>model</c> entry).</param>
    /// <param name="maxLength">Export length; null = model.length.</param>
    /// <param name="corpus">Corpus name for the provenance (the YAML's data.train when not given).</param>
    /// <param name="cancel">Checked while reading.</param>
    public static ExportSource Load(string pth, string? configPath, string weights, int? maxLength, string? corpus, CancellationToken cancel = default)
    {
        // The file's kind first: a text file or a random zip is reported as such, whatever the config.
        var top = TorchPickle.Load(pth, cancel) as IDictionary ?? throw TorchPickle.Bad(pth, "its top level is not a dict");
        if (!top.Contains("model") || !top.Contains("ema"))
            throw TorchPickle.Bad(pth, top.Keys.Cast<object>().All(k => k is string) && top.Values.Cast<object>().All(v => v is SafeTensor)
                ? "it is a bare state_dict, not a run_train.py checkpoint (put it in a folder as pytorch_model.bin with its config.json)"
                : "it has no 'model' and 'ema' entries (expected run_train.py's {optimizer, model, ema, step})");
        if (top["model"] is not PickledOrderedDict model) throw TorchPickle.Bad(pth, "'model' is not an OrderedDict state_dict");
        var online = HubCheckpoint.StateDict(model, pth);
        configPath ??= DefaultConfig(pth)
            ?? throw new SeddException($"{pth} holds no config: pass --config FILE.yaml (the run's .hydra/config.yaml)", SeddException.Usage);
        if (FileKinds.Of(configPath) == FileKind.Missing) throw new SeddException($"config {configPath} not found (pass --config FILE.yaml, the run's .hydra/config.yaml)", SeddException.Usage);
        var config = configPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? AuthorsConfig.ReadJson(configPath, cancel) : AuthorsConfig.ReadYaml(configPath, cancel);

        Dictionary<string, SafeTensor> chosen;
        if (weights == "online") chosen = online;
        else
        {
            if (top["ema"] is not IDictionary ema || ema["shadow_params"] is not IList shadows)
                throw TorchPickle.Bad(pth, "'ema' has no shadow_params list");
            var names = model.OrderedKeys.Cast<string>().Where(n => n != Buffer).ToList();
            if (shadows.Count != names.Count)
                throw TorchPickle.Bad(pth, $"ema.shadow_params has {shadows.Count} tensors but 'model' has {names.Count} parameters");
            chosen = new Dictionary<string, SafeTensor>(StringComparer.Ordinal);
            for (int i = 0; i < names.Count; i++)
            {
                if (shadows[i] is not SafeTensor t) throw TorchPickle.Bad(pth, $"ema.shadow_params[{i}] is not a tensor");
                if (!t.Shape.SequenceEqual(online[names[i]].Shape))
                    throw TorchPickle.Bad(pth, $"ema.shadow_params[{i}] has shape [{string.Join(", ", t.Shape)}] but parameter {names[i]} has [{string.Join(", ", online[names[i]].Shape)}]");
                chosen[names[i]] = t;
            }
            if (online.TryGetValue(Buffer, out var inv)) chosen[Buffer] = inv;
        }

        var arch = ScoreNetworkArchitecture.Infer(chosen, config.Heads, config.ScaleBySigma, maxLength ?? config.Length);
        config.CheckAgainst(arch, pth);
        return new ExportSource
        {
            Kind = "pth",
            Location = pth,
            Architecture = arch,
            Weights = chosen,
            GraphType = config.GraphType,
            Tokens = config.Tokens,
            Noise = ExportSource.NoiseOf(config.NoiseType, config.SigmaMin, config.SigmaMax),
            TrainedLength = config.Length,
            Tokenizer = ExportSource.TokenizerFor(config.Tokens),
            WeightsKind = weights,
            Corpus = corpus ?? "openwebtext",
            Steps = top["step"] is int or long ? Convert.ToInt64(top["step"], System.Globalization.CultureInfo.InvariantCulture) : null,
        };
    }
}
