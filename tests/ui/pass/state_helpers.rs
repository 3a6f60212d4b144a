//! Event bodies that call helper methods of the state, and ordinary methods
//! that read the state through them.

use chronicle_es::prelude::*;

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    owner: String,
    balance: i64,
    history: Vec<i64>,
}

impl AccountState {
    fn apply(&mut self, amount: i64) {
        self.balance += amount;
        self.history.push(amount);
    }

    fn is_overdrawn(&self) -> bool {
        self.balance < 0
    }
}

#[aggregate]
impl Account {
    #[event("Opened")]
    pub fn open(owner: String, deposit: i64) -> Self {
        let mut state = Self {
            owner,
            balance: 0,
            history: Vec::new(),
        };
        state.apply(deposit);
        state
    }

    #[event("Deposited")]
    pub fn deposit(&mut self, amount: i64) {
        self.apply(amount);
    }

    #[event("Withdrawn")]
    pub fn withdraw(&mut self, amount: i64) {
        self.apply(-amount);
    }

    pub fn overdrawn(&self) -> bool {
        self.is_overdrawn()
    }
}

fn main() {
    let mut account = Account::open("Ada".to_owned(), 10);
    account.deposit(5);
    account.withdraw(20);
    assert_eq!(account.owner, "Ada");
    assert_eq!(account.balance, -5);
    assert_eq!(account.history, [10, 5, -20]);
    assert!(account.overdrawn());
    assert_eq!(account.version(), 3);
}
