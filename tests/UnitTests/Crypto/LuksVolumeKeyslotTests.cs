using System.Text;
using Qcow2.Crypto;

namespace Qcow2.UnitTests.Crypto;

/// <summary>
/// LuksVolume's keyslot amendment on a LUKS area in memory: a passphrase added to a slot unlocks the same master key,
/// an erased slot is disabled with its salt, iterations and key material gone, and the refusals carry QEMU's words.
/// </summary>
[TestFixture]
public class LuksVolumeKeyslotTests
{
    private static readonly LuksCipherSpec Spec = new(128, "cbc", "essiv", "sha256", "sha1");

    private byte[] _area = [];

    [SetUp]
    public void SetUp()
    {
        Secrets.Clear();
        Secrets.Add("s0", Encoding.UTF8.GetBytes("pass0"));
        Secrets.Add("s1", Encoding.UTF8.GetBytes("pass1"));
        _area = new byte[LuksVolume.AreaLength(Spec)];
        using var created = LuksVolume.Create(new LuksCreateParams("pass0", Spec, IterTimeMs: 1), Write);
    }

    private void Read(long offset, Span<byte> buffer) => _area.AsSpan((int)offset, buffer.Length).CopyTo(buffer);

    private void Write(long offset, ReadOnlySpan<byte> data) => data.CopyTo(_area.AsSpan((int)offset));

    private LuksVolume Open(string? password) => LuksVolume.Open(Read, password);

    private static byte[] Payload(LuksVolume v)
    {
        var data = new byte[512];
        v.Encrypt(0, data);
        return data;
    }

    [Test]
    public void Added_slot_unlocks_the_same_master_key()
    {
        using (var v = Open("pass0"))
        {
            v.AmendKeyslots(new LuksKeyslotChange(true, "s1", null, 5, 1), force: false, Read, Write);
        }
        using var first = Open("pass0");
        using var second = Open("pass1");
        Assert.That(second.Header.Slots.Select(s => s.Active), Is.EqualTo(new[] { true, false, false, false, false, true, false, false }));
        Assert.That(Payload(second), Is.EqualTo(Payload(first)));
    }

    [Test]
    public void Erased_slot_no_longer_unlocks_and_keeps_no_key_material()
    {
        using (var v = Open("pass0"))
        {
            v.AmendKeyslots(new LuksKeyslotChange(true, "s1", null, null, 1), force: false, Read, Write);
        }
        var slot0 = Open(null).Header.Slots[0];
        byte[] material = _area.AsSpan((int)slot0.KeyOffset * 512, 16 * LuksVolume.Stripes).ToArray();
        using (var v = Open("pass1"))
        {
            v.AmendKeyslots(new LuksKeyslotChange(false, null, "s0", null, null), force: false, Read, Write);
        }
        var erased = Open(null).Header.Slots[0];
        Assert.That(erased.Active, Is.False);
        Assert.That(erased.Iterations, Is.EqualTo(0));
        Assert.That(erased.Salt, Is.All.EqualTo(0));
        Assert.That(_area.AsSpan((int)erased.KeyOffset * 512, material.Length).ToArray(), Is.Not.EqualTo(material));
        var e = Assert.Throws<ImageOpenException>(() => Open("pass0"));
        Assert.That(e!.Message, Is.EqualTo("Invalid password, cannot unlock any keyslot"));
    }

    [TestCase(false, 0, "Attempt to erase the only active keyslot 0 which will erase all the data in the image irreversibly - refusing operation")]
    [TestCase(false, 3, "Given keyslot 3 is already erased (inactive) ")]
    [TestCase(true, 0, "Refusing to overwrite active keyslot 0 - please erase it first")]
    [TestCase(true, -1, "Invalid keyslot 4294967295 specified, must be between 0 and 7")]
    public void Refusals_are_worded_as_qemus(bool active, int keyslot, string message)
    {
        using var v = Open("pass0");
        var change = new LuksKeyslotChange(active, active ? "s1" : null, null, keyslot, null);
        var e = Assert.Throws<ImageChangeException>(() => v.AmendKeyslots(change, force: false, Read, Write));
        Assert.That(e!.Message, Is.EqualTo(message));
        Assert.That(Open(null).Header.Slots.Count(s => s.Active), Is.EqualTo(1), "a refused change writes nothing");
    }

    [Test]
    public void Force_erases_the_last_slot()
    {
        using (var v = Open("pass0"))
        {
            v.AmendKeyslots(new LuksKeyslotChange(false, null, null, 0, null), force: true, Read, Write);
        }
        Assert.That(Open(null).Header.Slots.Any(s => s.Active), Is.False);
    }
}
