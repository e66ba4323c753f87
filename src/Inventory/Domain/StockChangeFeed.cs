using System.Collections.Immutable;
using System.Threading.Channels;

using Contoso.Retail.Inventory.Model;

namespace Contoso.Retail.Inventory.Domain;

/// <summary>A stock level as committed; <see cref="Version"/> orders the changes of one SKU.</summary>
public sealed record StockChange(string Sku, int Available, int Reserved, long Version, DateTime UpdatedAt)
{
    public static StockChange Of(Item item) => new(item.Sku, item.Available, item.Reserved, item.Version, item.UpdatedAt);
}

/// <summary>
/// Fans committed stock changes out to WatchStock streams, in this replica only (a shared feed, e.g. LISTEN/NOTIFY,
/// would go here). A subscriber that falls behind its bounded buffer is cut off rather than slowing writers.
/// </summary>
public sealed class StockChangeFeed(int capacity = StockChangeFeed.DefaultCapacity)
{
    public const int DefaultCapacity = 1000;

    private ImmutableList<StockSubscription> _subscribers = [];

    public int SubscriberCount => _subscribers.Count;

    /// <param name="skus">SKUs to hear about; empty for every SKU.</param>
    public StockSubscription Subscribe(IReadOnlyCollection<string> skus)
    {
        var subscription = new StockSubscription(this, skus, capacity);
        ImmutableInterlocked.Update(ref _subscribers, list => list.Add(subscription));
        return subscription;
    }

    /// <summary>Call after the changes are committed, never before: a watcher must not see a level that may roll back.</summary>
    public void Publish(IEnumerable<StockChange> changes)
    {
        var subscribers = _subscribers;
        if (subscribers.IsEmpty)
        {
            return;
        }

        foreach (var change in changes)
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Offer(change);
            }
        }
    }

    internal void Remove(StockSubscription subscription) =>
        ImmutableInterlocked.Update(ref _subscribers, list => list.Remove(subscription));
}

/// <summary>One watcher's view of the feed. Dispose to stop receiving.</summary>
public sealed class StockSubscription : IDisposable
{
    private readonly StockChangeFeed _feed;
    private readonly HashSet<string>? _skus;
    private readonly Channel<StockChange> _channel;
    private bool _overflowed;

    internal StockSubscription(StockChangeFeed feed, IReadOnlyCollection<string> skus, int capacity)
    {
        _feed = feed;
        _skus = skus.Count == 0 ? null : new HashSet<string>(skus, StringComparer.Ordinal);
        _channel = Channel.CreateBounded<StockChange>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Changes in publish order; completes when the subscription is disposed or overflows.</summary>
    public ChannelReader<StockChange> Changes => _channel.Reader;

    /// <summary>True when the buffer filled up and the subscription was cut off; changes were lost.</summary>
    public bool Overflowed => Volatile.Read(ref _overflowed);

    internal void Offer(StockChange change)
    {
        if (_skus is not null && !_skus.Contains(change.Sku))
        {
            return;
        }

        if (_channel.Writer.TryWrite(change))
        {
            return;
        }

        // Set before completing, so a reader that sees the end also sees why.
        Volatile.Write(ref _overflowed, true);
        _channel.Writer.TryComplete();
        _feed.Remove(this);
    }

    public void Dispose()
    {
        _feed.Remove(this);
        _channel.Writer.TryComplete();
    }
}
