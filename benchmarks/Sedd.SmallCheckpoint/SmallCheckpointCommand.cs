using System.Globalization;
using System.Text;
using System.Text.Json;
using Cocona;
using Cocona.Application;
using Sedd.Runtime;
using Sedd.Runtime.IO;
using Sedd.Runtime.Sampling;

namespace Sedd.SmallCheckpoint;

/// <summary>
/// Writes <c>config.json</c> and <c>model.safetensors</c> in the authors' hub layout with the shapes of
/// SEDD-small (hidden 768, 12 blocks, 12 heads, cond 128, GPT-2's 50,257 tokens + mask, length 1024) and
/// seeded random weights. The safetensors file is streamed tensor by tensor, never held whole.
/// </summary>
sealed class SmallCheckpointCommand(ICoconaAppContextAccessor context)
{
    [Command(Description = "Write a random-weight checkpoint of SEDD-small's size (about 680 MB) in the authors' hub layout.")]
    public int Run(
        [Option("out", ['o'], Description = "New folder to write (config.json, model.safetensors)")] string output,
        [Option("seed", ['s'], Description = "Seed of the weights")] ulong seed = 1,
        [Option("hidden", Description = "Hidden size (SEDD-small: 768)")] int hidden = 768,
        [Option("blocks", Description = "Transformer blocks (SEDD-small: 12)")] int blocks = 12,
        [Option("heads", Description = "Attention heads (SEDD-small: 12)")] int heads = 12,
        [Option("length", Description = "Sequence length (SEDD-small: 1024)")] int length = 1024,
        [Option("tokens", Description = "Real tokens (GPT-2: 50257)")] int tokens = 50257)
    {
        UserFiles.RequirePathArgument(output, "--out");
        if (hidden < 8 || hidden % heads != 0 || hidden / heads % 2 != 0 || blocks < 1 || length < 2 || tokens < 2)
            throw new SeddException("--hidden must split into --heads of even size; --blocks ≥ 1, --length ≥ 2, --tokens ≥ 2", SeddException.Usage);
        if (FileKinds.Of(output) != FileKind.Missing)
            throw new SeddException($"--out {output} exists; choose a new folder", SeddException.Usage);
        var cancel = context.Current?.CancellationToken ?? CancellationToken.None;
        const int cond = 128, frequencies = 256;
        int vocab = tokens + 1;
        var shapes = new List<(string Name, long[] Shape, Init Init)>
        {
            ("vocab_embed.embedding", [vocab, hidden], Init.Normal),
            ("sigma_map.mlp.0.weight", [cond, frequencies], Init.Normal), ("sigma_map.mlp.0.bias", [cond], Init.Zero),
            ("sigma_map.mlp.2.weight", [cond, cond], Init.Normal), ("sigma_map.mlp.2.bias", [cond], Init.Zero),
            ("rotary_emb.inv_freq", [hidden / heads / 2], Init.Rotary),
        };
        for (int b = 0; b < blocks; b++)
        {
            var p = $"blocks.{b}.";
            shapes.Add((p + "norm1.weight", [hidden], Init.One));
            shapes.Add((p + "attn_qkv.weight", [3 * hidden, hidden], Init.Normal));
            shapes.Add((p + "attn_out.weight", [hidden, hidden], Init.Normal));
            shapes.Add((p + "norm2.weight", [hidden], Init.One));
            shapes.Add((p + "mlp.0.weight", [4 * hidden, hidden], Init.Normal));
            shapes.Add((p + "mlp.0.bias", [4 * hidden], Init.Zero));
            shapes.Add((p + "mlp.2.weight", [hidden, 4 * hidden], Init.Normal));
            shapes.Add((p + "mlp.2.bias", [hidden], Init.Zero));
            shapes.Add((p + "adaLN_modulation.weight", [6 * hidden, cond], Init.Normal));
            shapes.Add((p + "adaLN_modulation.bias", [6 * hidden], Init.Zero));
        }
        shapes.Add(("output_layer.norm_final.weight", [hidden], Init.One));
        shapes.Add(("output_layer.linear.weight", [vocab, hidden], Init.Normal));
        shapes.Add(("output_layer.linear.bias", [vocab], Init.Zero));
        shapes.Add(("output_layer.adaLN_modulation.weight", [2 * hidden, cond], Init.Normal));
        shapes.Add(("output_layer.adaLN_modulation.bias", [2 * hidden], Init.Zero));
        shapes.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));

        var temp = output + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Directory.CreateDirectory(temp);
        try
        {
            File.WriteAllText(Path.Combine(temp, "config.json"), Config(tokens, hidden, blocks, heads, cond, length));
            long parameters = WriteSafetensors(Path.Combine(temp, "model.safetensors"), shapes, seed, cancel);
            Directory.Move(temp, output);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {output}: {parameters:N0} parameters ({parameters * 4 / 1e6:F0} MB fp32), hidden {hidden}, {blocks} blocks, {heads} heads, length {length}, {tokens:N0} tokens + mask"));
            return 0;
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    enum Init { Normal, Zero, One, Rotary }

    static long WriteSafetensors(string path, List<(string Name, long[] Shape, Init Init)> tensors, ulong seed, CancellationToken cancel)
    {
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        long offset = 0, parameters = 0;
        foreach (var (name, shape, _) in tensors)
        {
            long n = shape.Aggregate(1L, (a, d) => a * d);
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + n * 4 } };
            offset += n * 4;
            if (name != "rotary_emb.inv_freq") parameters += n;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(BitConverter.GetBytes((ulong)(json.Length + pad)));
        stream.Write(json);
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        var buffer = new float[1 << 20];
        ulong k = 0;
        foreach (var (name, shape, init) in tensors)
        {
            var random = new Xoshiro256StarStar(seed ^ (0x9E3779B97F4A7C15UL * ++k));
            long n = shape.Aggregate(1L, (a, d) => a * d);
            for (long done = 0; done < n;)
            {
                cancel.ThrowIfCancellationRequested();
                int chunk = (int)Math.Min(buffer.Length, n - done);
                for (int j = 0; j < chunk; j++)
                    buffer[j] = init switch
                    {
                        Init.Normal => (float)(0.02 * Gaussian(ref random)),
                        Init.One => 1f,
                        Init.Rotary => (float)(1.0 / Math.Pow(10000, 2.0 * (done + j) / (2 * n))),
                        _ => 0f,
                    };
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, chunk)));
                done += chunk;
            }
        }
        return parameters;
    }

    // Box–Muller from two uniforms.
    static double Gaussian(ref Xoshiro256StarStar random)
    {
        double u = 1 - random.NextDouble(), v = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }

    static string Config(int tokens, int hidden, int blocks, int heads, int cond, int length) => $$"""
        {
          "ngpus": 8,
          "tokens": {{tokens}},
          "graph": { "type": "absorb", "file": "data", "report_all": false },
          "noise": { "type": "loglinear", "sigma_min": 0.0001, "sigma_max": 20 },
          "model": { "name": "small", "type": "ddit", "hidden_size": {{hidden}}, "cond_dim": {{cond}}, "length": {{length}},
                     "n_blocks": {{blocks}}, "n_heads": {{heads}}, "scale_by_sigma": true, "dropout": 0.1 },
          "training": { "batch_size": 512, "ema": 0.9999 },
          "optim": { "lr": 0.0003, "warmup": 2500 }
        }
        """;
}
