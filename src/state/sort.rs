//! A small stable sort for the widget's short lists (tickets, messages, outbox).
//!
//! The standard library's stable sort is fast on large inputs but costs a few KB of
//! wasm for every element type; these lists hold tens to hundreds of items that are
//! nearly always already in order, where insertion sort is linear and tiny.

/// Sorts `items` stably so that no item is placed after one it is `before`.
pub fn sort_by<T>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && before(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_keeps_equal_items_in_order() {
        let mut v = vec![(3, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (3, 'e'), (0, 'f')];
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert_eq!(
            v,
            [(0, 'f'), (1, 'b'), (1, 'd'), (2, 'c'), (3, 'a'), (3, 'e')]
        );
        let mut empty: Vec<i32> = vec![];
        sort_by(&mut empty, |a, b| a < b);
        assert!(empty.is_empty());
    }

    #[test]
    fn matches_the_standard_stable_sort() {
        // A fixed pseudo-random sequence with many ties.
        let mut x = 7u32;
        let mut v: Vec<(u32, usize)> = (0..300)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                ((x >> 16) % 20, i)
            })
            .collect();
        let mut expected = v.clone();
        expected.sort_by_key(|p| p.0);
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, expected);
    }
}
