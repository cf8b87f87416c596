namespace Qcow2.UnitTests.Engine;

/// <summary>VM state (qemu-io read -b / write -b) lives after the guest disk, from the first L1 entry past it.</summary>
[TestFixture]
public sealed class VmStateTests
{
    [Test]
    public void Vm_state_round_trips_beyond_the_disk_without_touching_guest_data()
    {
        var storage = EngineFixture.NewImage(64L << 20);
        using (var img = EngineFixture.Open(storage))
        {
            img.WriteVmState(100 << 10, Enumerable.Repeat((byte)8, 4096).ToArray());
            var back = new byte[4096];
            img.ReadVmState(100 << 10, back);
            Assert.That(back, Is.All.EqualTo((byte)8));
            var guest = new byte[4096];
            img.Read(100 << 10, guest);
            Assert.That(guest, Is.All.EqualTo((byte)0), "guest data at the same offset");
            // 64 MiB needs one L1 entry (512 MiB each); VM state starts at the second.
            Assert.That(img.Header.L1Size, Is.EqualTo(2u));
            Assert.That(img.Size, Is.EqualTo(64L << 20));
        }
        using var reopened = EngineFixture.Open(storage);
        var again = new byte[512];
        reopened.ReadVmState((100 << 10) + 512, again);
        Assert.That(again, Is.All.EqualTo((byte)8));
    }
}
