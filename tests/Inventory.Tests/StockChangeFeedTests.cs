using Contoso.Retail.Inventory.Domain;

namespace Contoso.Retail.Inventory.Tests;

/// <summary>The in-process change feed behind WatchStock.</summary>
public class StockChangeFeedTests
{
    private static StockChange Change(string sku, long version) =>
        new(sku, Available: 10, Reserved: 0, version, DateTime.UtcNow);

    [Fact]
    public void A_subscriber_hears_only_the_skus_it_asked_for()
    {
        var feed = new StockChangeFeed();
        using var keyboards = feed.Subscribe(["KB-001"]);
        using var everything = feed.Subscribe([]);

        feed.Publish([Change("KB-001", 2), Change("MS-002", 2)]);

        Assert.Equal(["KB-001"], Drain(keyboards).Select(c => c.Sku));
        Assert.Equal(["KB-001", "MS-002"], Drain(everything).Select(c => c.Sku));
    }

    [Fact]
    public void A_subscriber_that_falls_behind_is_cut_off_and_told_so()
    {
        var feed = new StockChangeFeed(capacity: 2);
        using var slow = feed.Subscribe([]);

        feed.Publish([Change("KB-001", 2), Change("KB-001", 3), Change("KB-001", 4)]);

        Assert.Equal([2L, 3L], Drain(slow).Select(c => c.Version));
        Assert.True(slow.Changes.Completion.IsCompleted);
        Assert.True(slow.Overflowed);
        Assert.Equal(0, feed.SubscriberCount);
    }

    [Fact]
    public void A_disposed_subscription_stops_receiving_without_overflow()
    {
        var feed = new StockChangeFeed();
        var subscription = feed.Subscribe([]);

        subscription.Dispose();
        feed.Publish([Change("KB-001", 2)]);

        Assert.Empty(Drain(subscription));
        Assert.True(subscription.Changes.Completion.IsCompleted);
        Assert.False(subscription.Overflowed);
        Assert.Equal(0, feed.SubscriberCount);
    }

    private static List<StockChange> Drain(StockSubscription subscription)
    {
        var changes = new List<StockChange>();
        while (subscription.Changes.TryRead(out var change))
        {
            changes.Add(change);
        }

        return changes;
    }
}
